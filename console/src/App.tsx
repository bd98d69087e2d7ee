import { Center, Loader } from '@mantine/core';
import { Navigate, Route, Routes, useLocation } from 'react-router';
import { useSession } from './api/session';
import { Shell } from './layout/Shell';
import { AccessPolicy } from './pages/AccessPolicy';
import { AuditLog } from './pages/AuditLog';
import { ConsentQueue } from './pages/ConsentQueue';
import { Dashboard } from './pages/Dashboard';
import { HouseholdDetail } from './pages/HouseholdDetail';
import { HouseholdNew } from './pages/HouseholdNew';
import { Households } from './pages/Households';
import { ImportRun } from './pages/ImportRun';
import { Imports } from './pages/Imports';
import { Integrations } from './pages/Integrations';
import { PersonDetail } from './pages/PersonDetail';
import { PersonNew } from './pages/PersonNew';
import { Persons } from './pages/Persons';
import { Programmes } from './pages/Programmes';
import { SignIn } from './pages/SignIn';
import { Users } from './pages/Users';

export function App() {
  const { session, loading } = useSession();
  const location = useLocation();
  if (loading) {
    return (
      <Center h="100vh">
        <Loader aria-label="Loading" />
      </Center>
    );
  }
  if (!session) {
    return (
      <Routes>
        <Route path="/sign-in" element={<SignIn />} />
        <Route path="*" element={<Navigate to="/sign-in" replace state={{ from: location.pathname }} />} />
      </Routes>
    );
  }
  return (
    <Routes>
      <Route
        path="/sign-in"
        element={<Navigate to={(location.state as { from?: string })?.from ?? '/'} replace />}
      />
      <Route element={<Shell />}>
        <Route index element={<Dashboard />} />
        <Route path="persons" element={<Persons />} />
        <Route path="persons/new" element={<PersonNew />} />
        <Route path="persons/:personId" element={<PersonDetail />} />
        <Route path="households" element={<Households />} />
        <Route path="households/new" element={<HouseholdNew />} />
        <Route path="households/:householdId" element={<HouseholdDetail />} />
        <Route path="imports" element={<Imports />} />
        <Route path="imports/:importId" element={<ImportRun />} />
        <Route path="integrations" element={<Integrations />} />
        <Route path="programmes" element={<Programmes />} />
        <Route path="consents" element={<ConsentQueue />} />
        <Route path="admin/audit" element={<AuditLog />} />
        <Route path="admin/users" element={<Users />} />
        <Route path="admin/access-policy" element={<AccessPolicy />} />
        <Route path="*" element={<Navigate to="/" replace />} />
      </Route>
    </Routes>
  );
}
