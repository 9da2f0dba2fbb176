"""Themes: one folder each (templates/ overriding the built-in ones, static/, theme.yaml).

Realms pick a theme and add branding (logo, colours, watermark) on top; rendering is in
app/web/rendering.py.
"""
