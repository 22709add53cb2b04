"""The world map of the exchanges, drawn on the server as SVG from Natural Earth shapes.

The shapes are the ``world-atlas`` package's ``countries-110m.json`` (TopoJSON, kept as a
static file with its ISC licence: ``analytics/README.md``). TopoJSON stores each border
once, as an *arc*: a list of points, quantized (integers) and delta-encoded (each point
the difference from the one before); ``transform`` turns the integers back into
longitude and latitude. A polygon's ring is a list of arc indices, ``~i`` (``-i - 1``)
meaning arc ``i`` reversed. Decoding is that and nothing more, so no library is needed.

The projection is the Natural Earth projection (Šavrič, Patterson, Jenny 2011), a
polynomial in the latitude; the arcs from provider to recipient start and end at the
countries' centroids (``analytics/data/country_centroids.csv``), and are drawn as
quadratic curves bowing away from the straight line, their width by the number of
exchanges. The base map (every country's path) is built once per process.
"""

from __future__ import annotations

import csv
import functools
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import pycountry

HERE = Path(__file__).resolve().parent
ATLAS = HERE / "static" / "analytics" / "world-atlas" / "countries-110m.json"
CENTROIDS = HERE / "data" / "country_centroids.csv"

WIDTH = 960
# The Natural Earth projection's extent: x in [-2.7309, 2.7309] * scale and y in
# [-1.4224, 1.4224] * scale for the whole sphere.
_X_EXTENT = 0.8707 * math.pi
_Y_EXTENT = 1.4224
SCALE = WIDTH / (2 * _X_EXTENT)
# Antarctica (010) is left out: no exchange goes there and it takes a fifth of the height.
SOUTH_LIMIT = -60.0
TOP = _Y_EXTENT * SCALE


def natural_earth(lon: float, lat: float) -> tuple[float, float]:
    """Longitude and latitude (degrees) to SVG coordinates (y down), 0 at the top left."""
    phi, lam = math.radians(lat), math.radians(lon)
    phi2 = phi * phi
    phi4 = phi2 * phi2
    x = lam * (
        0.8707 - 0.131979 * phi2 + phi4 * (-0.013791 + phi4 * (0.003971 * phi2 - 0.001529 * phi4))
    )
    y = phi * (
        1.007226 + phi2 * (0.015085 + phi4 * (-0.044475 + 0.028874 * phi2 - 0.005916 * phi4))
    )
    return x * SCALE + WIDTH / 2, TOP - y * SCALE


# The bottom of the map: the 60th parallel south.
HEIGHT = round(natural_earth(0, SOUTH_LIMIT)[1])


# --- TopoJSON --------------------------------------------------------------------------------


def decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    """Each arc as a list of (longitude, latitude): delta-decoded, then transformed."""
    transform = topology.get("transform")
    arcs = []
    for arc in topology["arcs"]:
        points = []
        if transform:
            (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
            x = y = 0
            for dx, dy in arc:
                x += dx
                y += dy
                points.append((x * sx + tx, y * sy + ty))
        else:
            points = [(px, py) for px, py in arc]
        arcs.append(points)
    return arcs


def ring_points(ring: list[int], arcs) -> list[tuple[float, float]]:
    """A ring's points from its arc indices (``~i`` is arc ``i`` reversed); each arc after
    the first starts where the one before ended, so that shared point is dropped."""
    points: list[tuple[float, float]] = []
    for index in ring:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc if not points else arc[1:])
    return points


def polygons_of(geometry: dict, arcs) -> list[list[list[tuple[float, float]]]]:
    """A geometry's polygons, each a list of rings (the first the outer one)."""
    if geometry.get("type") == "Polygon":
        return [[ring_points(ring, arcs) for ring in geometry["arcs"]]]
    if geometry.get("type") == "MultiPolygon":
        return [[ring_points(ring, arcs) for ring in polygon] for polygon in geometry["arcs"]]
    return []


def alpha3(numeric_id) -> str | None:
    """World-atlas ids are ISO 3166-1 numeric codes ("076"); a few shapes have none
    (Kosovo, Northern Cyprus, Somaliland)."""
    if numeric_id is None:
        return None
    country = pycountry.countries.get(numeric=str(numeric_id).zfill(3))
    return country.alpha_3 if country else None


@dataclass(frozen=True)
class CountryShape:
    code: str | None
    name: str
    path: str


def _path(polygons) -> str:
    parts = []
    for polygon in polygons:
        for ring in polygon:
            projected = [natural_earth(lon, max(lat, SOUTH_LIMIT)) for lon, lat in ring]
            if len(projected) < 3:
                continue
            head, *tail = projected
            parts.append(
                f"M{head[0]:.0f} {head[1]:.0f}"
                + "".join(f"L{x:.0f} {y:.0f}" for x, y in tail)
                + "Z"
            )
    return "".join(parts)


@functools.cache
def base_map() -> tuple[CountryShape, ...]:
    """Every country of the atlas (Antarctica aside) as an SVG path, built once."""
    with open(ATLAS, encoding="utf-8") as f:
        topology = json.load(f)
    arcs = decode_arcs(topology)
    shapes = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        if geometry.get("id") == "010":
            continue
        shapes.append(
            CountryShape(
                code=alpha3(geometry.get("id")),
                name=geometry.get("properties", {}).get("name", ""),
                path=_path(polygons_of(geometry, arcs)),
            )
        )
    return tuple(shapes)


# --- Centroids -------------------------------------------------------------------------------


def _ring_centroid(ring) -> tuple[float, float, float]:
    """Area (absolute) and centroid of a ring in longitude/latitude (the shoelace formula:
    good enough for a point to start an arc from)."""
    area = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
        cross = x0 * y1 - x1 * y0
        area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if abs(area) < 1e-12:
        xs, ys = zip(*ring, strict=True)
        return 0.0, sum(xs) / len(xs), sum(ys) / len(ys)
    return abs(area) / 2, cx / (3 * area), cy / (3 * area)


def compute_centroids(topology: dict) -> dict[str, tuple[float, float]]:
    """The centroid of each country's largest polygon (its outer ring), by alpha-3."""
    arcs = decode_arcs(topology)
    centroids = {}
    for geometry in topology["objects"]["countries"]["geometries"]:
        code = alpha3(geometry.get("id"))
        polygons = polygons_of(geometry, arcs)
        if not code or not polygons:
            continue
        best = max((_ring_centroid(polygon[0]) for polygon in polygons), key=lambda c: c[0])
        centroids[code] = (round(best[1], 2), round(best[2], 2))
    return centroids


@functools.cache
def centroids() -> dict[str, tuple[float, float]]:
    """alpha-3 -> (longitude, latitude), from the table kept in analytics/data."""
    with open(CENTROIDS, newline="", encoding="utf-8") as f:
        return {row["code"]: (float(row["lon"]), float(row["lat"])) for row in csv.DictReader(f)}


# --- The picture -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Arc:
    provider: str
    recipient: str
    provider_name: str
    recipient_name: str
    exchanges: int
    path: str
    width: float
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class WorldMap:
    width: int
    height: int
    countries: tuple[CountryShape, ...]
    arcs: tuple[Arc, ...]
    active: frozenset[str]
    missing: tuple[str, ...]


def world_map(rows: list[dict]) -> WorldMap:
    """The base map with an arc per (provider, recipient) row of the country flows
    (``analytics.flows.exchange_flows(by="country")``), widest for the most exchanges.
    Countries with no known centroid are listed in ``missing`` (they stay in the table)."""
    table = centroids()
    top = max((row["exchanges"] for row in rows), default=1) or 1
    arcs, missing, active = [], set(), set()
    for row in rows:
        a, b = table.get(row["provider"]), table.get(row["recipient"])
        if a is None or b is None:
            missing.update(
                code for code, c in ((row["provider"], a), (row["recipient"], b)) if c is None
            )
            continue
        (x1, y1), (x2, y2) = natural_earth(*a), natural_earth(*b)
        # A control point off the middle, to the left of the direction of travel.
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        dx, dy = x2 - x1, y2 - y1
        cx, cy = mx - dy * 0.25, my + dx * 0.25
        arcs.append(
            Arc(
                provider=row["provider"],
                recipient=row["recipient"],
                provider_name=row.get("provider_name", row["provider"]),
                recipient_name=row.get("recipient_name", row["recipient"]),
                exchanges=row["exchanges"],
                path=f"M{x1:.1f} {y1:.1f}Q{cx:.1f} {cy:.1f} {x2:.1f} {y2:.1f}",
                width=round(1 + 5 * row["exchanges"] / top, 1),
                x1=round(x1, 1),
                y1=round(y1, 1),
                x2=round(x2, 1),
                y2=round(y2, 1),
            )
        )
        active.update((row["provider"], row["recipient"]))
    return WorldMap(
        width=WIDTH,
        height=HEIGHT,
        countries=base_map(),
        arcs=tuple(sorted(arcs, key=lambda arc: arc.width)),
        active=frozenset(active),
        missing=tuple(sorted(missing)),
    )


def _main(argv):  # pragma: no cover - the maintainer's tool for the centroid table
    if len(argv) == 3 and argv[1] == "centroids":
        with open(argv[2], encoding="utf-8") as f:
            table = compute_centroids(json.load(f))
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["code", "lon", "lat"])
        for code in sorted(table):
            writer.writerow([code, f"{table[code][0]:.2f}", f"{table[code][1]:.2f}"])
        return 0
    print("usage: python -m analytics.worldmap centroids countries-50m.json", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main(sys.argv))
