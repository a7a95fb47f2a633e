"""linkolis-host: the integration core of the Linkolis order and stock hub."""
