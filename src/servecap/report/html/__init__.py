"""Self-contained HTML reports with inline SVG charts: load tests, plans, advice, demos."""

from .pages import advise_page, demo_page, plan_page, render_html, results_page

__all__ = ["advise_page", "demo_page", "plan_page", "render_html", "results_page"]
