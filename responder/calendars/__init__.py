"""Clinicians' calendars: busy times from iCalendar feeds and CalDAV, and the open slots between them (issue 13)."""
