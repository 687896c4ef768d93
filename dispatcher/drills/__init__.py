"""Demo and drill data: synthetic volunteers and AEDs, and incidents like a control room's."""
