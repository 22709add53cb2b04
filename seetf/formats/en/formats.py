# English keeps the ISO dates its pages always showed (2026-12-01, 2026-12-01 14:05).
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
