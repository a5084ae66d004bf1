"""A forecaster end to end: defaults, closed-form and classical members, ensembles, search,
export and fast prediction."""
