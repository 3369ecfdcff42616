// Runs once per run, first (project `setup`): the server starts with no admin and logs a one-time
// setup link; the owner account is created through it, and its credentials are saved for the rest.
import { expect, test } from '@playwright/test';
import {
  createOwnerThroughSetupLink,
  formWith,
  login,
  savedOwner,
  SERVER_LOG,
  visit,
} from './helpers';

test('the first owner is created through the setup link the server logs', async ({ page }) => {
  expect(savedOwner(), `a fresh run: no owner saved yet beside ${SERVER_LOG}`).toBeNull();
  // Creates the owner and checks that it lands on /admin/campaigns.
  const owner = await createOwnerThroughSetupLink(page);
  await expect(page.getByRole('navigation').getByRole('link', { name: 'Campaigns', exact: true })).toBeVisible();
  expect(savedOwner()).toEqual(owner);
});

test('the owner can log in with the new account', async ({ browser }) => {
  const owner = savedOwner();
  expect(owner, 'the setup test saved the owner').not.toBeNull();
  const context = await browser.newContext();
  const page = await context.newPage();
  await login(page, owner!);
  await context.close();
});

test('a wrong password does not log in', async ({ page }) => {
  const owner = savedOwner();
  expect(owner).not.toBeNull();
  await visit(page, '/admin/login');
  const form = formWith(page, 'Log in');
  await form.getByLabel('Email', { exact: true }).fill(owner!.email);
  await form.getByLabel('Password', { exact: true }).fill(`${owner!.password}-wrong`);
  await form.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(/\/admin\/login/);
  await visit(page, '/admin/campaigns');
  await expect(page).not.toHaveURL(/\/admin\/campaigns(?:[?#]|$)/);
});
