"""A volunteer's texts in: what a reply means and what is done about it."""
