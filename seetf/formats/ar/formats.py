# Django's Arabic formats group no digits (NUMBER_GROUPING unset) and have no short
# date-time format. The MENA partners' financial reports write Western digits grouped by
# three, 1,234,567.50; dates day/month/year, with right-to-left marks as Django's.
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
SHORT_DATETIME_FORMAT = "d\u200f/m\u200f/Y H:i"
