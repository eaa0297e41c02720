"""Co-building's write path: one module per part (library, projects, bookings, admission, funds), each function
keyword-only, typed, atomic and audited. Views, the API, Excel imports, the demo and tests call these."""
