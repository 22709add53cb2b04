"""Money, written once: every amount is a decimal of 16 digits with two places (cents),
in the database, in forms and in the API, where it is a string such as "1250.00"."""

from decimal import Decimal

# The keyword arguments of every money field: models.DecimalField, forms.DecimalField
# and DRF's serializers.DecimalField take the same two.
MONEY = {"max_digits": 16, "decimal_places": 2}
ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def to_cents(value: Decimal | None) -> Decimal:
    """``value`` rounded to cents; nothing (an empty sum) is zero."""
    return (value if value is not None else ZERO).quantize(CENT)


def is_whole_cents(value: Decimal) -> bool:
    """Whether ``value`` has no more than two decimal places."""
    return value == value.quantize(CENT)


def decimal_text(decimal_places: int):
    """The function that writes a decimal as DRF's DecimalField does with this many
    places (COERCE_DECIMAL_TO_STRING): fixed point, never an exponent; None stays None."""
    quantum = Decimal(1).scaleb(-decimal_places)

    def text(value: Decimal | None) -> str | None:
        return None if value is None else f"{value.quantize(quantum):f}"

    return text


# An amount as the API writes it: usd(Decimal("12.5")) == "12.50".
usd = decimal_text(MONEY["decimal_places"])
