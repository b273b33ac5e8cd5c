"""Following, events and notifications: how a participant hears what happened to what they
said and to what they follow (in the app, and by mail as they choose)."""
