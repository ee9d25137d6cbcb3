"""Operations: what the people who run the server need to see it working and to move it
(issue 10): request records and their observers (metrics, usage statistics), readiness,
release calendars, reports, export and restore."""
