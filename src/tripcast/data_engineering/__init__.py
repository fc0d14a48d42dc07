"""Data engineering: getting trips in, checking them, transforming and exporting them."""
