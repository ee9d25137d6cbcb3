"""Services: what the REST APIs, the portal and the reports share above the store and the
registry: the data service (a DataQuery in, a DataMessage out), labels, availability."""
