"""Who may read and write results (API.md roles), as named rules. Who reads, writes,
submits and accepts a completion report is part of the grant workflow, in
``grants.permissions`` (``can_see_report``, ``can_write_report``, ``can_accept_report``).
"""
