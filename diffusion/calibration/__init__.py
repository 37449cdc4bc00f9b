"""Fitting the model to the published record (issue 13): survey targets with their sources,
the model-side statistics that compute the same quantities, and the priors of a calibration."""
