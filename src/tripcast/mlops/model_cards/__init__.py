"""Model cards (the guide's ``mlops/governance/documentation``): slicing, lineage readers, rendering and
storage of a version's card. Generic: the problem's slices and prose are injected by the root."""
