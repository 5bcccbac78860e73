"""The buyer's and the organiser's pages: templates, their strings and their scripts, served by the API."""
