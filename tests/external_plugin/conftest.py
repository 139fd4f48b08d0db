"""Run from the vagent checkout, pytest puts this folder on ``sys.path`` (it is no package), so
the example plugin's tests import it without installing it; an author's installed plugin needs
nothing like this."""
