"""The sandbox: Flowglad's API and hosted pages in memory, its webhook deliveries, its pytest
plugin and its command."""
