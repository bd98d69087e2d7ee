-- Row-level security only lets an index serve a condition whose operators are LEAKPROOF; the
-- cube operators of earthdistance and pg_trgm's `%` are not, so under the hearth_app role the
-- radius and fuzzy-name searches scanned every row of the tenant (2.5 s over 100,000
-- households). These functions run as the table owner, which row-level security does not bind,
-- and restrict themselves to the transaction's tenant (app_tenant_id(): NULL outside a tenant
-- transaction, so they return nothing there). The spatial indexes then serve the search.
-- ROWS 100: a radius holds few rows, so the planner joins back by primary key, not by a scan.

CREATE FUNCTION households_within(lat float8, lon float8, meters float8)
RETURNS TABLE (id uuid, distance_m float8)
LANGUAGE sql STABLE SECURITY DEFINER ROWS 100 SET search_path = public, pg_temp AS $$
  SELECT h.id, earth_distance(ll_to_earth(h.geo_lat, h.geo_lon), ll_to_earth(lat, lon))
    FROM households h
   WHERE h.tenant_id = app_tenant_id() AND h.geo_lat IS NOT NULL
     AND earth_box(ll_to_earth(lat, lon), meters) @> ll_to_earth(h.geo_lat, h.geo_lon)
     AND earth_distance(ll_to_earth(h.geo_lat, h.geo_lon), ll_to_earth(lat, lon)) <= meters
$$;

CREATE FUNCTION geo_areas_within(lat float8, lon float8, meters float8)
RETURNS TABLE (id uuid, distance_m float8)
LANGUAGE sql STABLE SECURITY DEFINER ROWS 100 SET search_path = public, pg_temp AS $$
  SELECT g.id, earth_distance(ll_to_earth(g.centroid_lat, g.centroid_lon), ll_to_earth(lat, lon))
    FROM geo_areas g
   WHERE g.tenant_id = app_tenant_id() AND g.centroid_lat IS NOT NULL
     AND earth_box(ll_to_earth(lat, lon), meters) @> ll_to_earth(g.centroid_lat, g.centroid_lon)
     AND earth_distance(ll_to_earth(g.centroid_lat, g.centroid_lon), ll_to_earth(lat, lon)) <= meters
$$;

-- Persons whose lower-cased name is trigram-similar to q (pg_trgm's `%`, served by
-- persons_name_trgm). Used on PostgreSQL only: see docs/decisions/0006.
CREATE FUNCTION persons_named_like(q text)
RETURNS TABLE (id uuid)
LANGUAGE sql STABLE SECURITY DEFINER ROWS 100 SET search_path = public, pg_temp AS $$
  SELECT p.id FROM persons p WHERE p.tenant_id = app_tenant_id() AND lower(p.full_name) % q
$$;
