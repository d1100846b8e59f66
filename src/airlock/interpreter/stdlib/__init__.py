"""The program's library: builtins, methods per type, modules, operators — each a table entry
(``flow.Entry``) run through the one dispatch, ``flow.invoke``. ``tables.py`` is the allow list."""
