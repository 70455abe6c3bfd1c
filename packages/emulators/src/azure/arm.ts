import { randomBytes, randomUUID } from 'node:crypto';
import { FakeReplyError } from '../http/errors.js';
import {
  type AzureOperationStatus,
  azureLocationReply,
  azureOperationStatus,
  createAzureOperation,
  type LongRunning,
} from '../http/operations.js';
import { paginateAzure } from '../http/pagination.js';
import { type FakeReply, type Route, type RouteContext, reply, route } from '../http/routes.js';

/** One Resource Manager resource as the fake keeps it. */
export interface ArmResource {
  id: string;
  name: string;
  type: string;
  location: string;
  tags: Record<string, string>;
  properties: Record<string, unknown>;
  /** Top-level fields besides the standard ones (`sku`, `kind`, `zones`…). */
  extra: Record<string, unknown>;
  /** Fields the API takes but never returns (a VM's customData). */
  secret: Record<string, unknown>;
  /** Lower-case resource group name. */
  group: string;
}

export interface ArmResourceGroup {
  name: string;
  location: string;
  tags: Record<string, string>;
  state: 'Succeeded' | 'Deleting';
  /** Whether ARM refuses to delete it (a `CanNotDelete` lock, for GC tests). */
  locked?: boolean;
}

export interface ArmOperation {
  op: LongRunning<AzureOperationStatus>;
  /** The body a finished operation's Location answers (a create's resource). */
  result?: () => unknown;
  /** Work the operation waits for before it may finish (a VM's machine starting). */
  gate?: { settled: boolean; error?: string };
}

export interface ArmTiming {
  /** Polls before a long-running operation finishes (default 2: one InProgress answer). */
  operationPolls: number;
  /** Retry-After on the answers that start or continue one (default 0: the clients poll at once). */
  retryAfterSeconds: number;
  /** Resource groups per page of ResourceGroups_List (default 100, as ARM's). */
  groupsPerPage: number;
}

/** What a resource kind does besides the generic create/read/delete. */
export interface ResourceKind {
  /** `Microsoft.Compute/virtualMachines` */
  type: string;
  /** The spec's path to one resource; `{name}` is the last parameter. */
  path: string;
  operations: { put: string; get: string; delete: string; listByGroup?: string; listAll?: string };
  /** How PUT answers: Azure-AsyncOperation with a body (most), or 202 Location without one (storage). */
  create?: 'async-operation' | 'location';
  /** Checks and completes the stored resource from a PUT; throws FakeReplyError to refuse it. */
  build?(resource: ArmResource, body: Record<string, unknown>, existing: ArmResource | undefined): void;
  /** Runs once the create finished (a VM's machine starts). */
  created?(resource: ArmResource): void | Promise<void>;
  /** Runs once the resource is gone (its machine is terminated). */
  deleted?(resource: ArmResource): void | Promise<void>;
  /** Answered instead of the stored form (computed fields). */
  view?(resource: ArmResource): Record<string, unknown>;
}

export interface ArmStateOptions {
  subscriptionId: string;
  timing: ArmTiming;
  log: (line: string) => void;
}

const lower = (s: string) => s.toLowerCase();

export function armError(status: number, code: string, message: string): FakeReplyError {
  return new FakeReplyError({ status, body: { error: { code, message } } }, `${code}: ${message}`);
}

/**
 * The state of the emulated Resource Manager: resource groups and the resources in them, and the
 * long-running operations clients poll. Names are case-insensitive, as ARM's are.
 */
export class ArmState {
  readonly groups = new Map<string, ArmResourceGroup>();
  readonly resources = new Map<string, ArmResource>();
  readonly operations = new Map<string, ArmOperation>();
  private readonly kinds: ResourceKind[] = [];

  constructor(readonly options: ArmStateOptions) {}

  get subscriptionId(): string {
    return this.options.subscriptionId;
  }

  groupId(name: string): string {
    return `/subscriptions/${this.subscriptionId}/resourceGroups/${name}`;
  }

  resourceId(group: string, type: string, name: string): string {
    return `${this.groupId(group)}/providers/${type}/${name}`;
  }

  register(kind: ResourceKind): void {
    this.kinds.push(kind);
  }

  kind(type: string): ResourceKind | undefined {
    return this.kinds.find((k) => lower(k.type) === lower(type));
  }

  /** The resource this id names, if it exists. */
  find(id: string): ArmResource | undefined {
    return this.resources.get(lower(id));
  }

  inGroup(group: string): ArmResource[] {
    return [...this.resources.values()].filter((r) => r.group === lower(group));
  }

  /** An operation clients poll; `onDone` runs the first time it is seen finished. */
  startOperation(
    onDone?: () => void | Promise<void>,
    result?: () => unknown,
    waitFor?: Promise<unknown>,
  ): { id: string; op: LongRunning<AzureOperationStatus> } {
    const id = randomUUID();
    const gate: ArmOperation['gate'] = waitFor ? { settled: false } : undefined;
    waitFor?.then(
      () => {
        gate!.settled = true;
      },
      (e: unknown) => {
        gate!.settled = true;
        gate!.error = e instanceof Error ? e.message : String(e);
      },
    );
    const op = createAzureOperation({
      id,
      completeAfter: { polls: this.options.timing.operationPolls },
      onDone: () => {
        Promise.resolve(onDone?.()).catch((e) =>
          this.options.log(`azure: operation ${id} finished badly: ${e}`),
        );
      },
    });
    this.operations.set(id, { op, ...(result ? { result } : {}), ...(gate ? { gate } : {}) });
    return { id, op };
  }

  /** Removes a resource now (its kind's `deleted` runs). */
  async remove(resource: ArmResource): Promise<void> {
    if (!this.resources.delete(lower(resource.id))) return;
    await this.kind(resource.type)?.deleted?.(resource);
  }

  /** Deletes a group and everything in it (VMs first, as ARM orders dependants). */
  async removeGroup(name: string): Promise<void> {
    const inside = this.inGroup(name).sort(
      (a, b) => Number(b.type.endsWith('virtualMachines')) - Number(a.type.endsWith('virtualMachines')),
    );
    for (const resource of inside) await this.remove(resource);
    this.groups.delete(lower(name));
  }

  /** Adds a group directly (test set-ups: any tags, any age, locked or not). */
  seedGroup(
    name: string,
    tags: Record<string, string> = {},
    options: { location?: string; locked?: boolean } = {},
  ): void {
    this.groups.set(lower(name), {
      name,
      location: options.location ?? 'westus',
      tags,
      state: 'Succeeded',
      ...(options.locked ? { locked: true } : {}),
    });
  }

  /** Adds a resource directly (test set-ups), in a group that exists. */
  seedResource(
    group: string,
    type: string,
    name: string,
    fields: Partial<Pick<ArmResource, 'tags' | 'properties' | 'extra' | 'location'>> = {},
  ): ArmResource {
    const parent = this.requireGroup(group);
    const resource: ArmResource = {
      id: this.resourceId(parent.name, type, name),
      name,
      type,
      location: fields.location ?? parent.location,
      tags: fields.tags ?? {},
      properties: { provisioningState: 'Succeeded', ...fields.properties },
      extra: fields.extra ?? {},
      secret: {},
      group: lower(parent.name),
    };
    this.resources.set(lower(resource.id), resource);
    return resource;
  }

  /** The group named in the path, or the 404 ARM answers. */
  requireGroup(name: string): ArmResourceGroup {
    const group = this.groups.get(lower(name));
    if (!group || group.state === 'Deleting')
      throw armError(404, 'ResourceGroupNotFound', `Resource group '${name}' could not be found.`);
    return group;
  }

  requireSubscription(id: string): void {
    if (lower(id) !== lower(this.subscriptionId))
      throw armError(404, 'SubscriptionNotFound', `The subscription '${id}' could not be found.`);
  }
}

/** The standard `{id,name,type,location,tags,properties}` form of a resource. */
export function resourceBody(state: ArmState, resource: ArmResource): Record<string, unknown> {
  const kind = state.kind(resource.type);
  const body = kind?.view?.(resource) ?? {
    id: resource.id,
    name: resource.name,
    type: resource.type,
    location: resource.location,
    ...(Object.keys(resource.tags).length ? { tags: resource.tags } : {}),
    ...resource.extra,
    properties: resource.properties,
  };
  return body;
}

function groupBody(state: ArmState, group: ArmResourceGroup): Record<string, unknown> {
  return {
    id: state.groupId(group.name),
    name: group.name,
    type: 'Microsoft.Resources/resourceGroups',
    location: group.location,
    ...(Object.keys(group.tags).length ? { tags: group.tags } : {}),
    properties: { provisioningState: group.state },
  };
}

function stringTags(tags: unknown, where: string): Record<string, string> {
  if (tags === undefined) return {};
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags as Record<string, unknown>)) {
    if (typeof value !== 'string') throw armError(400, 'InvalidTag', `${where}: tag ${key} must be a string`);
    out[key] = value;
  }
  return out;
}

/** Where clients poll: the operation's status (Azure-AsyncOperation) and its result (Location). */
function operationUrls(ctx: RouteContext<unknown>, state: ArmState, id: string) {
  const base = `${ctx.baseUrl}/subscriptions/${state.subscriptionId}/providers/Microsoft.Resources`;
  const version = ctx.query.get('api-version') ?? '';
  return {
    status: `${base}/asyncOperations/${id}?api-version=${version}`,
    location: `${base}/operationResults/${id}?api-version=${version}`,
  };
}

function asyncHeaders(state: ArmState, urls: { status: string; location: string }, withStatus: boolean) {
  return {
    ...(withStatus ? { 'Azure-AsyncOperation': urls.status } : {}),
    Location: urls.location,
    'Retry-After': String(state.options.timing.retryAfterSeconds),
  };
}

/** Resource groups, operation polling, and the generic routes of every registered kind. */
export function armRoutes(state: ArmState): Route[] {
  const groupPath = '/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}';
  const routes: Route[] = [
    route(
      'PUT',
      groupPath,
      (ctx) => {
        state.requireSubscription(ctx.params.subscriptionId);
        const body = ctx.body as { location: string; tags?: Record<string, string> };
        const existing = state.groups.get(lower(ctx.params.resourceGroupName));
        if (existing?.state === 'Deleting')
          throw armError(
            409,
            'ResourceGroupBeingDeleted',
            `The resource group '${existing.name}' is in deprovisioning state.`,
          );
        if (existing && lower(existing.location) !== lower(body.location))
          throw armError(
            409,
            'InvalidResourceGroupLocation',
            `Resource group '${existing.name}' already exists in location '${existing.location}'.`,
          );
        const group: ArmResourceGroup = {
          name: existing?.name ?? ctx.params.resourceGroupName,
          location: body.location,
          tags: stringTags(body.tags, 'resource group'),
          state: 'Succeeded',
          ...(existing?.locked ? { locked: true } : {}),
        };
        state.groups.set(lower(group.name), group);
        return reply(existing ? 200 : 201, groupBody(state, group));
      },
      { operationId: 'ResourceGroups_CreateOrUpdate' },
    ),
    route(
      'GET',
      groupPath,
      (ctx) => {
        state.requireSubscription(ctx.params.subscriptionId);
        const group = state.groups.get(lower(ctx.params.resourceGroupName));
        if (!group)
          throw armError(
            404,
            'ResourceGroupNotFound',
            `Resource group '${ctx.params.resourceGroupName}' could not be found.`,
          );
        return reply(200, groupBody(state, group));
      },
      { operationId: 'ResourceGroups_Get' },
    ),
    route(
      'HEAD',
      groupPath,
      (ctx) => {
        state.requireSubscription(ctx.params.subscriptionId);
        return reply(state.groups.has(lower(ctx.params.resourceGroupName)) ? 204 : 404);
      },
      { operationId: 'ResourceGroups_CheckExistence' },
    ),
    route(
      'PATCH',
      groupPath,
      (ctx) => {
        const group = state.requireGroup(ctx.params.resourceGroupName);
        const body = ctx.body as { tags?: Record<string, string> };
        if (body.tags !== undefined) group.tags = stringTags(body.tags, 'resource group');
        return reply(200, groupBody(state, group));
      },
      { operationId: 'ResourceGroups_Update' },
    ),
    route(
      'DELETE',
      groupPath,
      (ctx) => {
        state.requireSubscription(ctx.params.subscriptionId);
        const group = state.groups.get(lower(ctx.params.resourceGroupName));
        if (!group)
          return reply(404, {
            error: {
              code: 'ResourceGroupNotFound',
              message: `Resource group '${ctx.params.resourceGroupName}' could not be found.`,
            },
          });
        if (group.locked)
          throw armError(
            409,
            'ScopeLocked',
            `The scope '${state.groupId(group.name)}' cannot perform delete operation because following scope(s) are locked.`,
          );
        group.state = 'Deleting';
        const { id } = state.startOperation(() => state.removeGroup(group.name));
        return reply(202, undefined, asyncHeaders(state, operationUrls(ctx, state, id), false));
      },
      { operationId: 'ResourceGroups_Delete' },
    ),
    route(
      'GET',
      '/subscriptions/{subscriptionId}/resourcegroups',
      (ctx) => {
        state.requireSubscription(ctx.params.subscriptionId);
        const all = [...state.groups.values()].map((g) => groupBody(state, g));
        return reply(200, paginateAzure(all, ctx, { pageSize: state.options.timing.groupsPerPage }));
      },
      { operationId: 'ResourceGroups_List' },
    ),
    route(
      'GET',
      '/subscriptions/{subscriptionId}/providers/Microsoft.Resources/asyncOperations/{operationId}',
      (ctx) => {
        const found = findOperation(state, ctx.params.operationId);
        if (!gateOpen(found))
          return reply(200, {
            name: found.op.id,
            status: 'InProgress',
            startTime: found.op.createdAt.toISOString(),
          });
        return azureOperationStatus(found.op);
      },
      { outsideSpec: true },
    ),
    route(
      'GET',
      '/subscriptions/{subscriptionId}/providers/Microsoft.Resources/operationResults/{operationId}',
      (ctx) => {
        const found = findOperation(state, ctx.params.operationId);
        if (!gateOpen(found))
          return reply(202, undefined, {
            Location: `${ctx.baseUrl}${ctx.path}?${ctx.query}`,
            'Retry-After': String(state.options.timing.retryAfterSeconds),
          });
        const answer = azureLocationReply(
          found.op,
          `${ctx.baseUrl}${ctx.path}?${ctx.query}`,
          undefined,
          state.options.timing.retryAfterSeconds,
        );
        // the result is read once finished: a create's resource, with its final provisioningState
        if (answer.status === 204 && found.result) return reply(200, found.result());
        return answer;
      },
      { outsideSpec: true },
    ),
  ];
  return routes;
}

/** Whether the operation may finish: its gate (if any) settled; a failed gate fails it. */
function gateOpen(found: ArmOperation): boolean {
  if (!found.gate) return true;
  if (!found.gate.settled) return false;
  if (found.gate.error && !found.op.finished)
    found.op.fail({ code: 'InternalExecutionError', message: found.gate.error });
  return true;
}

function findOperation(state: ArmState, id: string) {
  const found = state.operations.get(id);
  if (!found) throw armError(404, 'OperationNotFound', `operation ${id} is not known`);
  return found;
}

/** A route whose path is computed (its parameters are not known to the type system). */
function anyRoute(
  method: Route['method'],
  path: string,
  handler: (ctx: RouteContext<Record<string, string>>) => FakeReply | Promise<FakeReply>,
  options: { operationId: string },
): Route {
  return { method, path, operationId: options.operationId, handler };
}

/** GET/PUT/DELETE (and lists) of one resource kind. */
export function kindRoutes(state: ArmState, kind: ResourceKind): Route[] {
  const nameParam = /\{([^}]+)\}$/.exec(kind.path)![1]!;
  const routes: Route[] = [];
  const locate = (ctx: RouteContext<Record<string, string>>) => {
    state.requireSubscription(ctx.params.subscriptionId!);
    const group = ctx.params.resourceGroupName!;
    const name = ctx.params[nameParam]!;
    return {
      group,
      name,
      id: state.resourceId(state.groups.get(lower(group))?.name ?? group, kind.type, name),
    };
  };
  routes.push(
    anyRoute(
      'PUT',
      kind.path,
      (ctx) => {
        const { group, name, id } = locate(ctx);
        const parent = state.requireGroup(group);
        const body = (ctx.body ?? {}) as Record<string, unknown>;
        const existing = state.find(id);
        const { location, tags, properties, id: _id, name: _name, type: _type, ...extra } = body;
        const resource: ArmResource = {
          id: existing?.id ?? id,
          name: existing?.name ?? name,
          type: kind.type,
          location: String(location ?? parent.location),
          tags: stringTags(tags, kind.type),
          properties: { ...((properties ?? {}) as Record<string, unknown>) },
          extra,
          secret: existing?.secret ?? {},
          group: lower(parent.name),
        };
        kind.build?.(resource, body, existing);
        resource.properties.provisioningState = existing ? 'Updating' : 'Creating';
        state.resources.set(lower(resource.id), resource);
        const creating = existing ? undefined : kind.created?.(resource);
        const { id: opId } = state.startOperation(
          () => {
            resource.properties.provisioningState = 'Succeeded';
          },
          () => resourceBody(state, resource),
          creating ? Promise.resolve(creating) : undefined,
        );
        const urls = operationUrls(ctx, state, opId);
        if (kind.create === 'location') return reply(202, undefined, asyncHeaders(state, urls, false));
        return reply(existing ? 200 : 201, resourceBody(state, resource), asyncHeaders(state, urls, true));
      },
      { operationId: kind.operations.put },
    ),
    anyRoute(
      'GET',
      kind.path,
      (ctx) => {
        const { id } = locate(ctx);
        const resource = state.find(id);
        if (!resource)
          throw armError(
            404,
            'ResourceNotFound',
            `The Resource '${kind.type}/${ctx.params[nameParam]}' under resource group '${ctx.params.resourceGroupName}' was not found.`,
          );
        return reply(200, resourceBody(state, resource));
      },
      { operationId: kind.operations.get },
    ),
    anyRoute(
      'DELETE',
      kind.path,
      (ctx) => {
        const { id } = locate(ctx);
        const resource = state.find(id);
        if (!resource) return reply(204);
        resource.properties.provisioningState = 'Deleting';
        const { id: opId } = state.startOperation(() => state.remove(resource));
        return reply(202, undefined, asyncHeaders(state, operationUrls(ctx, state, opId), true));
      },
      { operationId: kind.operations.delete },
    ),
  );
  const listByGroup = kind.operations.listByGroup;
  if (listByGroup)
    routes.push(
      anyRoute(
        'GET',
        kind.path.replace(/\/\{[^}]+\}$/, ''),
        (ctx) => {
          state.requireGroup(ctx.params.resourceGroupName!);
          const items = state
            .inGroup(ctx.params.resourceGroupName!)
            .filter((r) => lower(r.type) === lower(kind.type));
          return reply(
            200,
            paginateAzure(
              items.map((r) => resourceBody(state, r)),
              ctx,
            ),
          );
        },
        { operationId: listByGroup },
      ),
    );
  const listAll = kind.operations.listAll;
  if (listAll)
    routes.push(
      anyRoute(
        'GET',
        `/subscriptions/{subscriptionId}/providers/${kind.type}`,
        (ctx) => {
          state.requireSubscription(ctx.params.subscriptionId!);
          const items = [...state.resources.values()].filter((r) => lower(r.type) === lower(kind.type));
          return reply(
            200,
            paginateAzure(
              items.map((r) => resourceBody(state, r)),
              ctx,
            ),
          );
        },
        { operationId: listAll },
      ),
    );
  return routes;
}

/** A reference `{id}` in a body to a resource that must exist (a NIC's subnet, a VM's NIC). */
export function requireReference(state: ArmState, id: unknown, what: string): ArmResource | undefined {
  if (typeof id !== 'string') throw armError(400, 'InvalidParameter', `${what}: an id is required`);
  const [path, child] = id.split(/\/subnets\//i);
  const found = state.find(path!);
  if (!found) throw armError(404, 'NotFound', `${what}: resource ${id} was not found`);
  if (child !== undefined) {
    const subnets = (found.properties.subnets ?? []) as { name?: string }[];
    if (!subnets.some((s) => lower(s.name ?? '') === lower(child)))
      throw armError(404, 'NotFound', `${what}: subnet ${child} of ${found.name} was not found`);
  }
  return found;
}

export function shortHex(bytes = 4): string {
  return randomBytes(bytes).toString('hex');
}

export type { FakeReply };
