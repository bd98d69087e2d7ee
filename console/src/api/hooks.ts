import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from './client';

/** Codes of a tenant vocabulary (gender, id-type, membership-role…) as select options. */
export function useVocabulary(code: string) {
  return useQuery({
    queryKey: ['vocabulary', code],
    staleTime: 5 * 60_000,
    queryFn: async () => {
      const body = unwrap(await api.GET('/api/v1/vocabularies/{code}/codes', { params: { path: { code } } }));
      return body.data.map((c) => ({ value: c.code, label: c.display ?? c.code }));
    },
  });
}

export function useVerticals() {
  return useQuery({
    queryKey: ['verticals'],
    staleTime: 5 * 60_000,
    queryFn: async () => unwrap(await api.GET('/api/v1/verticals')).data,
  });
}

export function useGeoAreas() {
  return useQuery({
    queryKey: ['geo-areas'],
    staleTime: 5 * 60_000,
    queryFn: async () =>
      unwrap(await api.GET('/api/v1/geo-areas', { params: { query: { limit: 200 } } })).data,
  });
}
