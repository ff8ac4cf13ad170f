"""``addnn report``: the build's figures on one static HTML page."""
