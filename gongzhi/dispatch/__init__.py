"""Dispatch intelligence (派单智能): the category and department suggested from a case's text, calibrated and
explained; models trained, evaluated, versioned and rolled back; hot spots (热点问题) found among cases; and the
quality of replies (答复意见评价) scored. Measured on real public messages (bench/dispatch.py)."""
