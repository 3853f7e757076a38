"""Shared helpers for the course notebooks: data, plotting, widgets, gradient checks, self-checks.

This package ships to students: it holds no solution code.
"""
