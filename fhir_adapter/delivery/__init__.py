"""Delivery to EHRs: the EHR client with its authentication, the writes, and the workers that drain the outbox."""
