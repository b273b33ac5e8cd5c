"""Share previews: the Open Graph and Twitter-card metadata of public pages, their preview
images (drawn by ``drawing``, cached in the instance folder by ``previews``) and share links."""
