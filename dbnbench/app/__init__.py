"""The application: the command line, its consoles and the history database."""
