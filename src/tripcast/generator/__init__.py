"""The project generator (issue 17): cut a working project at a learning level from this source tree, and
upgrade a generated project a level at a time with a three-way merge of the user's edits.

Standard library only (plus what the cut project itself needs), so ``create_mlops_structure.py`` runs before
any dependency is installed.
"""
