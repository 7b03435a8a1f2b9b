"""What hospitals tell us: HL7 v2 ADT messages, Subscriptions notifications and Da Vinci admit/discharge
messages, each read into one `Event` that the intake stores and the sync planner acts on."""
