"""Hostile input through the whole Application (issue #8): random text, commands, button
data and CSV files from owners, clients and strangers; no crash, no change from bad input."""
