"""Where messages come from and how replies leave: one folder per integration, behind the protocols in base.py."""
