"""Documented exit codes of the ``rtcheck`` command (see README, "Exit codes")."""

OK = 0  #: the plan passes / the command did what was asked
FAIL = 1  #: the plan fails or is incomplete (something NOT EVALUATED)
USAGE = 2  #: the command was called wrongly
BAD_INPUT = 3  #: the input cannot be used (one-line message on stderr)
INTERNAL = 4  #: a bug in rtcheck (please report it, with the traceback from --debug)
BROKEN_PIPE = 141  #: stdout closed early (``| head``): 128 + SIGPIPE, as a shell reports it
