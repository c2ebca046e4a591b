"""The ``make`` entry points: validate (mutants), matrix, bench, soak."""
