"""The family's plan (*duken*): goals in the family's own words, and actions."""
