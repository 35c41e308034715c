"""The billing rules: functions of an :class:`~flask_flowglad.sandbox.account.Account`.

Each module holds the rules of one concern, and imports only the modules below it:

- :mod:`.items` and :mod:`.invoices`: subscription items and their credits; invoices;
- :mod:`.subscriptions`: starting, cancelling and ending subscriptions;
- :mod:`.adjustments`: plan changes, now or at the end of the period;
- :mod:`.periods`: the clock: renewals, trial ends, scheduled cancels and plan changes;
- :mod:`.usage` and :mod:`.resources`: usage events and balances; resource claims;
- :mod:`.payments`, :mod:`.checkout` and :mod:`.customers`: cards, purchases, checkout
  sessions, customers;
- :mod:`.read_models`: the shapes the API answers with (billing, subscription details).

Nothing here locks or writes to a file: the caller holds a transaction around every call.
Each rule cites the file of Flowglad's source (``flowglad/flowglad``,
``platform/flowglad-next/src/...``) it follows.
"""
