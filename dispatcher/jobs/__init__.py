"""The queue's jobs by name, and the sweeper that rings again for overdue work."""
