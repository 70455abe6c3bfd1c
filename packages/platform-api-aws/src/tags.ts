/** mantle's ownership tag on everything it creates in EC2; `ore aws gc` only ever touches these. */
export const ownerTag = { key: 'CreatedBy', value: 'mantle' } as const;
