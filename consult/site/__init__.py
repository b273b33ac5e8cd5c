"""The site's own settings, set by site admins on a page rather than in a file: its name, its
accent colour and logo, its footer links, its time zone, who may sign up (everyone, or those
with an invitation) and how many reports hide a contribution."""
