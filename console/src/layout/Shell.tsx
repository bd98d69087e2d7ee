import { AppShell, Burger, Button, Group, NativeSelect, NavLink, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useTranslation } from 'react-i18next';
import { Outlet, NavLink as RouterLink, useLocation } from 'react-router';
import { useCan, useSession } from '../api/session';
import { LANGUAGES } from '../i18n';

interface NavItem {
  to: string;
  label: string;
  /** Shown only to users holding this scope. */
  scope?: string;
}

export function Shell() {
  const { t, i18n } = useTranslation();
  const { session, signOut } = useSession();
  const can = useCan();
  const [opened, { toggle, close }] = useDisclosure();
  const location = useLocation();

  const items: NavItem[] = [
    { to: '/', label: t('nav.dashboard') },
    { to: '/persons', label: t('nav.persons'), scope: 'persons:read' },
    { to: '/households', label: t('nav.households'), scope: 'households:read' },
    { to: '/consents', label: t('nav.consents'), scope: 'consents:verify' },
    { to: '/imports', label: t('nav.imports'), scope: 'persons:write' },
    { to: '/programmes', label: t('nav.programmes'), scope: 'programs:read' },
    { to: '/integrations', label: t('nav.integrations'), scope: 'integrations:read' },
    { to: '/admin/users', label: t('nav.users'), scope: 'role:tenant_admin' },
    { to: '/admin/access-policy', label: t('nav.policy'), scope: 'role:tenant_admin' },
    { to: '/admin/audit', label: t('nav.audit'), scope: 'audit:read' },
  ];

  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !opened } }}
      padding="md"
    >
      <a className="skip-link" href="#main">
        {t('nav.skip')}
      </a>
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label={t('nav.menu')} />
            <Title order={1} size="h3">
              Hearth
            </Title>
          </Group>
          <Group wrap="nowrap" gap="sm">
            <Text size="sm" visibleFrom="sm" data-testid="signed-in-as">
              {session?.user.display_name ?? session?.user.username}
              {session?.user.tenant_code ? ` · ${session.user.tenant_code}` : ''}
            </Text>
            <NativeSelect
              aria-label={t('nav.language')}
              size="xs"
              value={i18n.language}
              onChange={(e) => void i18n.changeLanguage(e.currentTarget.value)}
              data={LANGUAGES.map((l) => ({ value: l.value, label: l.label }))}
            />
            <Button size="xs" variant="outline" onClick={() => void signOut()}>
              {t('auth.signOut')}
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label={t('nav.main')}>
        {items
          .filter((item) => !item.scope || can(item.scope))
          .map((item) => (
            <NavLink
              key={item.to}
              component={RouterLink}
              to={item.to}
              label={item.label}
              onClick={close}
              active={item.to === '/' ? location.pathname === '/' : location.pathname.startsWith(item.to)}
            />
          ))}
      </AppShell.Navbar>
      <AppShell.Main id="main">
        <Outlet />
      </AppShell.Main>
    </AppShell>
  );
}
