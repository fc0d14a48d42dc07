"""Streamlit dashboard (a driving adapter); run ``tripcast dashboard``. ``app.py`` is a Streamlit script."""
