"""Documents a person reads: a record's resources as an HTML page and a PDF of it, and the DocumentReference
that carries both to an EHR that will not take the resources themselves."""
