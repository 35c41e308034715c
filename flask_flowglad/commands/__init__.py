"""The operator's commands of ``flask flowglad``: ``check``, ``customer``, ``pricing``,
``backfill`` and ``send-test-webhook``, one module each (plus ``text`` for how billing reads
in a terminal). ``flask_flowglad.cli`` adds them to the ``flowglad`` group."""
