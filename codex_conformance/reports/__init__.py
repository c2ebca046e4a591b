"""What a run writes: the summary, failure artifacts, the matrix and compatibility reports,
the secret scan."""
