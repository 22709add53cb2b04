# Django's own formats for this language are right for the fund's reports.
