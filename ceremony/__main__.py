from ceremony.cli import entry

entry()
