"""Amazon app for linkolis-host (hook implementations come with the Amazon authorization issue)."""
