"""Excel in and out for the registry (G2). Placeholder: implemented in its own change.

Planned interface (the web layer and the API call exactly these):

    SHEETS: dict[str, ...]                      # kinds: "areas", "organisations", "units", "people"
    template_workbook(kind: str) -> bytes       # the .xlsx template offered for download
    import_workbook(*, actor, kind: str, data: bytes) -> ImportReport
        # all-or-nothing: any bad row -> ImportReport.errors [(row, column, reason)], nothing written
    export_workbook(*, viewer, kind: str, queryset) -> bytes   # masked per the viewer's roles (R4)
"""
